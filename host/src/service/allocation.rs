//! (being moved here from api/allocation)
