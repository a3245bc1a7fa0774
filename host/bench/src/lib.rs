//! Shared pieces of the benchmark binaries.

/// The Douyin plugin the ingest benchmark installs: its manifest and component.
pub fn douyin_plugin() -> (String, Vec<u8>) {
    let manifest = "name = \"douyin\"\nversion = \"1.0.0\"\nworld = \"platform\"\ngrants = [\"log\", \"config\"]\n";
    let component = std::fs::read(kolhost::plugins::artifacts::EXAMPLE_PLATFORM)
        .expect("the build step compiled the example platform plugin");
    (manifest.to_owned(), component)
}
