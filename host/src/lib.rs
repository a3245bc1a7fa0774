pub mod domain;
pub mod scripting;

pub fn placeholder() {}
