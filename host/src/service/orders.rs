//! (being moved here from api/orders)
