//! What a component says about itself before it is compiled: the names of its top-level
//! imports and exports, read from the binary's component import and export sections with
//! `wasmparser` (the parser wasmtime uses). Nested core modules and components are skipped
//! unread, so this takes milliseconds on a 64 MiB upload, where compiling it takes seconds:
//! the upload checks world, `kolhost:plugin` version and imports against grants on this before
//! any compile.

use wasmparser::{Chunk, Parser, Payload};

/// A component's top-level import and export names, in the order the binary lists them
/// (e.g. `kolhost:plugin/log@0.2.0`, `wasi:io/streams@0.2.6`, `kolhost:plugin/platform-api@0.2.0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentInfo {
    pub imports: Vec<String>,
    pub exports: Vec<String>,
}

/// Reads a component's import and export names. Fails on bytes that are not a well-formed
/// component at the top level (a core module, a truncated or garbled binary); it does not
/// validate function bodies or nested modules (the compile does).
pub fn read(bytes: &[u8]) -> Result<ComponentInfo, String> {
    let mut info = ComponentInfo::default();
    let mut parser = Parser::new(0);
    let mut data = bytes;
    loop {
        let (consumed, payload) = match parser.parse(data, true).map_err(|e| e.to_string())? {
            Chunk::Parsed { consumed, payload } => (consumed, payload),
            Chunk::NeedMoreData(_) => return Err("the binary ends early".into()),
        };
        data = &data[consumed..];
        match payload {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Component => {
                return Err("a core module, not a component".into());
            }
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    info.imports
                        .push(import.map_err(|e| e.to_string())?.name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader {
                    info.exports
                        .push(export.map_err(|e| e.to_string())?.name.name.to_owned());
                }
            }
            // The outer parser has stepped over a nested module or component; skip its bytes.
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => {
                data = data
                    .get(unchecked_range.len()..)
                    .ok_or("a nested module runs past the end of the binary")?;
            }
            Payload::End(_) => return Ok(info),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_refuses_what_is_no_component() {
        let wasm = wat::parse_str(
            r#"(component
                (import "kolhost:plugin/log@0.2.0" (instance))
                (core module $m (func (export "f")))
                (core instance $i (instantiate $m))
                (func $f (canon lift (core func $i "f")))
                (instance $e (export "describe" (func $f)))
                (export "kolhost:plugin/platform-api@0.2.0" (instance $e)))"#,
        )
        .unwrap();
        let info = read(&wasm).unwrap();
        assert_eq!(info.imports, ["kolhost:plugin/log@0.2.0"]);
        assert_eq!(info.exports, ["kolhost:plugin/platform-api@0.2.0"]);

        let core = wat::parse_str("(module)").unwrap();
        assert!(read(&core).unwrap_err().contains("core module"));
        assert!(read(&wasm[..wasm.len() - 3]).is_err(), "truncated");
        assert!(read(b"not wasm").is_err());
    }
}
