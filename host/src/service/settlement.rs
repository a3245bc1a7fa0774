//! (being moved here from api/settlement)
