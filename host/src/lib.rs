pub mod plugins;

pub fn placeholder() {}
