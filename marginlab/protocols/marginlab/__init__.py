"""marginlab's own pooled cross-margin vault (contracts/) as a protocol."""
