"""Rule families; each module defines ``RULES`` (metadata) and ``CHECKERS`` (node kind -> check functions)."""
