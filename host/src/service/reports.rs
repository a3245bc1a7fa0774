//! (being moved here from api/reports)
