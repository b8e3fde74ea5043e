"""
Command analysis: which executables a command line would run, and whether the allowlist covers them.

Pure core: no I/O except through an injected :class:`ExecutableResolver` (the default
:class:`OsResolver` asks the real filesystem), no clock, no runtime imports.
"""

from __future__ import annotations

from openclaw_exec.analysis._allowlist import arg_pattern_matches
from openclaw_exec.analysis._danger import DangerHit, DangerRow
from openclaw_exec.analysis._danger_rows import DANGER_ROWS, find_danger
from openclaw_exec.analysis._deny import check_deny
from openclaw_exec.analysis._evaluate import (
    MAX_SHELL_DEPTH,
    AllowAlwaysGrant,
    CompiledAllowlist,
    Evaluation,
    SatisfiedBy,
    SegmentEvaluation,
    SkillBin,
    compile_allowlist,
    durable_command_pattern,
    evaluate_command,
)
from openclaw_exec.analysis._host_env import (
    MAX_PATH_ENTRIES,
    ExecEnvironment,
    is_blocked_inherited,
    is_blocked_override,
    plan_exec_env,
    sanitize_inherited_env,
)
from openclaw_exec.analysis._render import (
    EVALUATION_SCHEMA_VERSION,
    evaluation_to_dict,
    format_evaluation_table,
)
from openclaw_exec.analysis._resolver import (
    ExecutableResolver,
    OsResolver,
    ResolutionCache,
    ResolvedExecutable,
)
from openclaw_exec.analysis._rules import (
    DEFAULT_SAFE_BIN_PROFILES,
    DEFAULT_SAFE_BIN_TRUSTED_DIRS,
    DEFAULT_SAFE_BINS,
    CompiledPattern,
    InlineEvalHit,
    SafeBinProfile,
    compile_pattern,
    detect_inline_eval,
)
from openclaw_exec.analysis._safe_bins import OPENCLAW_2026_9_SAFE_BIN_PROFILES
from openclaw_exec.analysis._shell import (
    MAX_COMMAND_CHARS,
    MAX_SHELL_OPERATORS,
    MAX_SHELL_WORDS,
    AnalysisFailure,
    ParsedChainPart,
    ParsedCommand,
    ParsedSegment,
    parse_shell_command,
)

__all__ = [
    "DANGER_ROWS",
    "DEFAULT_SAFE_BINS",
    "DEFAULT_SAFE_BIN_PROFILES",
    "DEFAULT_SAFE_BIN_TRUSTED_DIRS",
    "EVALUATION_SCHEMA_VERSION",
    "MAX_COMMAND_CHARS",
    "MAX_PATH_ENTRIES",
    "MAX_SHELL_DEPTH",
    "MAX_SHELL_OPERATORS",
    "MAX_SHELL_WORDS",
    "OPENCLAW_2026_9_SAFE_BIN_PROFILES",
    "AllowAlwaysGrant",
    "AnalysisFailure",
    "CompiledAllowlist",
    "CompiledPattern",
    "DangerHit",
    "DangerRow",
    "Evaluation",
    "ExecEnvironment",
    "ExecutableResolver",
    "InlineEvalHit",
    "OsResolver",
    "ParsedChainPart",
    "ParsedCommand",
    "ParsedSegment",
    "ResolutionCache",
    "ResolvedExecutable",
    "SafeBinProfile",
    "SatisfiedBy",
    "SegmentEvaluation",
    "SkillBin",
    "arg_pattern_matches",
    "check_deny",
    "compile_allowlist",
    "compile_pattern",
    "detect_inline_eval",
    "durable_command_pattern",
    "evaluate_command",
    "evaluation_to_dict",
    "find_danger",
    "format_evaluation_table",
    "is_blocked_inherited",
    "is_blocked_override",
    "parse_shell_command",
    "plan_exec_env",
    "sanitize_inherited_env",
]
