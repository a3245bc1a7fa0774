//! (being moved here from api/audit)
