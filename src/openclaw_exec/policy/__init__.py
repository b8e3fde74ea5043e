"""
Policy objects: the knobs, "the stricter wins", host resolution, verdicts, the file model.

Pure core: no I/O, no clock. Reading and writing the approvals file on disk lives in
:mod:`openclaw_exec.adapters.filestore`.
"""

from __future__ import annotations

from openclaw_exec.policy._approvals import (
    DEFAULT_AGENT_ID,
    WILDCARD_AGENT_ID,
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    PolicyDefaults,
    SocketConfig,
)
from openclaw_exec.policy._argpattern import arg_pattern_problem, cwd_bound_arg_pattern
from openclaw_exec.policy._codec import (
    approvals_from_json,
    approvals_to_json,
    check_arg_pattern,
    check_arg_patterns,
    check_deny_rules,
    dumps_approvals,
    loads_approvals,
)
from openclaw_exec.policy._config import (
    AUTO_REVIEW_TIMEOUT_MS,
    ExecConfig,
    ExecConfigError,
    ExecMode,
    ReviewerConfig,
    SafeBinProfileConfig,
)
from openclaw_exec.policy._config_read import exec_config_from_json, loads_exec_config
from openclaw_exec.policy._deny import (
    DenyCheck,
    DenyHit,
    DenyRule,
    ScopedDenyRule,
    deny_rule_problem,
)
from openclaw_exec.policy._enums import Ask, SandboxMode, Security
from openclaw_exec.policy._grants import (
    DAY_MS,
    MAX_GRANT_DAYS,
    Grant,
    GrantState,
    GrantUnavailable,
    ScopedGrant,
    add_grant,
    drop_inactive_grants,
    expiry_from_days,
    find_grant,
    revoke_grant,
    use_grant,
)
from openclaw_exec.policy._policy import (
    MOST_PERMISSIVE,
    PRESET_OPENCLAW_2026_4_1,
    PRESET_OPENCLAW_LATEST,
    ExecPolicy,
    Preset,
    max_ask,
    max_sandbox,
    min_security,
    stricter,
)
from openclaw_exec.policy._policytest import PolicyCase, PolicyTestFileError, parse_policy_tests
from openclaw_exec.policy._resolve import (
    POLICY_FIELDS,
    FieldOrigin,
    Layer,
    ResolvedPolicy,
    resolve_policy,
)
from openclaw_exec.policy._review import (
    ExecReviewer,
    ReviewDecision,
    ReviewRequest,
    ReviewRisk,
    ReviewVerdict,
    review_verdict_from_json,
)
from openclaw_exec.policy._sandbox import Sandbox
from openclaw_exec.policy._schema import (
    APPROVALS_SCHEMA_ID,
    EXEC_CONFIG_SCHEMA_ID,
    approvals_schema,
    dumps_schema,
    exec_config_schema,
    schema_for_classes,
)
from openclaw_exec.policy._verdict import (
    Verdict,
    VerdictReason,
    VerdictResult,
    decide_verdict,
    fallback_verdict,
    requires_approval,
)

__all__ = [
    "APPROVALS_SCHEMA_ID",
    "AUTO_REVIEW_TIMEOUT_MS",
    "DAY_MS",
    "DEFAULT_AGENT_ID",
    "EXEC_CONFIG_SCHEMA_ID",
    "MAX_GRANT_DAYS",
    "MOST_PERMISSIVE",
    "POLICY_FIELDS",
    "PRESET_OPENCLAW_2026_4_1",
    "PRESET_OPENCLAW_LATEST",
    "WILDCARD_AGENT_ID",
    "AgentPolicy",
    "AllowlistEntry",
    "ApprovalsFile",
    "Ask",
    "DenyCheck",
    "DenyHit",
    "DenyRule",
    "ExecConfig",
    "ExecConfigError",
    "ExecMode",
    "ExecPolicy",
    "ExecReviewer",
    "FieldOrigin",
    "Grant",
    "GrantState",
    "GrantUnavailable",
    "Layer",
    "PolicyCase",
    "PolicyDefaults",
    "PolicyTestFileError",
    "Preset",
    "ResolvedPolicy",
    "ReviewDecision",
    "ReviewRequest",
    "ReviewRisk",
    "ReviewVerdict",
    "ReviewerConfig",
    "SafeBinProfileConfig",
    "Sandbox",
    "SandboxMode",
    "ScopedDenyRule",
    "ScopedGrant",
    "Security",
    "SocketConfig",
    "Verdict",
    "VerdictReason",
    "VerdictResult",
    "add_grant",
    "approvals_from_json",
    "approvals_schema",
    "approvals_to_json",
    "arg_pattern_problem",
    "check_arg_pattern",
    "check_arg_patterns",
    "check_deny_rules",
    "cwd_bound_arg_pattern",
    "decide_verdict",
    "deny_rule_problem",
    "drop_inactive_grants",
    "dumps_approvals",
    "dumps_schema",
    "exec_config_from_json",
    "exec_config_schema",
    "expiry_from_days",
    "fallback_verdict",
    "find_grant",
    "loads_approvals",
    "loads_exec_config",
    "max_ask",
    "max_sandbox",
    "min_security",
    "parse_policy_tests",
    "requires_approval",
    "resolve_policy",
    "review_verdict_from_json",
    "revoke_grant",
    "schema_for_classes",
    "stricter",
    "use_grant",
]
