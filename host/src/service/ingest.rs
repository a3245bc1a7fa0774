//! (being moved here from api/ingest)
