"""The protocols marginlab drives, each behind one interface (:mod:`marginlab.protocols.base`)."""
