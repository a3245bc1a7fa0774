//! (being moved here from api/contracts)
