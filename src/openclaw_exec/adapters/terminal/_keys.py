"""
Bytes from a raw-mode terminal to key names, with no I/O (:class:`KeyDecoder`).

Arrow and paging keys arrive as escape sequences (``ESC [ A``, ``ESC O A`` in application
mode, ``ESC [ 5 ~``); a sequence may be split across reads, so the decoder keeps an
unfinished one until the next :meth:`KeyDecoder.feed`. An ``ESC`` alone is a key of its own
once :meth:`KeyDecoder.flush` says no more bytes came. Unknown sequences are dropped whole,
never read as letters (``ESC [ 1 ; 5 D`` must not type ``D``), and neither are Alt+key
combinations (``ESC o`` must not mean allow-once).
"""

from __future__ import annotations

__all__ = ["KeyDecoder"]

_CSI_FINAL = {
    "A": "up",
    "B": "down",
    "C": "right",
    "D": "left",
    "H": "home",
    "F": "end",
}
_TILDE = {"1": "home", "4": "end", "5": "pgup", "6": "pgdn", "7": "home", "8": "end"}
_CONTROL = {
    "\x03": "ctrl-c",
    "\x04": "ctrl-d",
    "\r": "enter",
    "\n": "enter",
    " ": "space",
    "\x7f": "backspace",
    "\x0c": "ctrl-l",
}


class KeyDecoder:
    """Turn terminal input into key names: letters as themselves, specials by name."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        """Decode *data*; an unfinished escape sequence waits for the next call."""
        raw = self._pending + data
        # Keep an incomplete UTF-8 tail for the next read.
        text = raw.decode("utf-8", errors="ignore")
        tail = raw[len(text.encode("utf-8")) :]
        self._pending = tail if len(tail) < 4 else b""
        self._buffer += text
        return self._drain(final=False)

    @property
    def pending_escape(self) -> bool:
        """An escape sequence is unfinished: wait briefly for the rest, then :meth:`flush`."""
        return "\x1b" in self._buffer

    def flush(self) -> list[str]:
        """No more input is coming soon: a lone ``ESC`` is the escape key."""
        return self._drain(final=True)

    def _drain(self, *, final: bool) -> list[str]:
        keys: list[str] = []
        buf = self._buffer
        i = 0
        while i < len(buf):
            char = buf[i]
            if char != "\x1b":
                keys.append(_CONTROL.get(char, char))
                i += 1
                continue
            end, key = _escape_sequence(buf, i)
            if end is None:  # incomplete
                if final:
                    keys.append("escape")
                    i = min(len(buf), i + 1)
                    continue
                break
            if key is not None:
                keys.append(key)
            i = end
        self._buffer = buf[i:]
        return [k for k in keys if k and (len(k) > 1 or k.isprintable())]


def _escape_sequence(buf: str, start: int) -> tuple[int | None, str | None]:
    """(end index, key or None for an unknown sequence); end ``None`` when incomplete."""
    if start + 1 >= len(buf):
        return None, None
    kind = buf[start + 1]
    if kind == "\x1b":
        return start + 1, "escape"
    if kind == "O":  # SS3: application cursor keys
        if start + 2 >= len(buf):
            return None, None
        return start + 3, _CSI_FINAL.get(buf[start + 2])
    if kind != "[":
        # Alt+key (ESC then the key): dropped whole. Alt-o must not mean allow-once.
        return (start + 2, None) if kind.isprintable() else (start + 1, "escape")
    j = start + 2
    while j < len(buf):
        char = buf[j]
        if "\x40" <= char <= "\x7e":
            params = buf[start + 2 : j]
            if char == "~":
                return j + 1, _TILDE.get(params.split(";")[0])
            if params and params != "1":
                return j + 1, None  # modified arrows etc.: ignored, never typed
            return j + 1, _CSI_FINAL.get(char)
        if not ("\x20" <= char <= "\x3f"):
            return j, None  # malformed: drop what we saw
        j += 1
    return None, None
