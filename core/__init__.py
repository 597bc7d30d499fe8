"""Seatmate's core: the domain rules and the sync contract. No Qt, no SQL, no I/O."""
