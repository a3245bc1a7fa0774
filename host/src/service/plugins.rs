//! (being moved here from api/plugins)
