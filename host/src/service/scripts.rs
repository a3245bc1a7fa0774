//! (being moved here from api/scripts)
