//! Reading an uploaded spreadsheet into rows of text cells: the first worksheet of an XLSX file,
//! or a CSV file (UTF-8, with or without a BOM, or GB18030 as Excel writes CSV on a Chinese
//! Windows). Every cell keeps its sheet row number (1-based, as the spreadsheet shows it), so an
//! error can name the row a person fixes.
//!
//! An upload is untrusted: its size is bounded by the caller, and an XLSX file (a zip archive) is
//! checked before it is parsed, so that a zip bomb is refused instead of inflated.

use std::io::{Cursor, Read};

use calamine::{Data, Reader};

/// One non-empty row of a sheet: its 1-based row number and its cells as text (trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub number: u32,
    pub cells: Vec<String>,
}

/// Why a file cannot be read as a sheet.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SheetError {
    #[error("the file is neither an XLSX workbook nor a CSV file: {0}")]
    Unreadable(String),
    #[error("the workbook has no worksheet")]
    NoWorksheet,
    #[error(
        "the XLSX file inflates to more than {} MiB; split the sheet",
        MAX_INFLATED_BYTES / (1024 * 1024)
    )]
    TooLarge,
    #[error("the sheet has more than {0} rows; split it")]
    TooManyRows(usize),
}

/// The most an XLSX file may inflate to (all its parts together).
const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;
/// The most parts an XLSX file may have.
const MAX_PARTS: usize = 1_000;
/// Numbers from this on (2^53) may have been rounded by the float a number cell holds: they read
/// in scientific notation, so that a long platform item id typed into a number cell is not taken
/// for its rounded value.
const MAX_EXACT_NUMBER: f64 = 9_007_199_254_740_992.0;

/// Reads `bytes` as a sheet, by its content (an XLSX file is a zip archive), up to `max_rows`
/// data rows after the header. Rows whose cells are all empty are skipped.
pub fn read(bytes: &[u8], max_rows: usize) -> Result<Vec<Row>, SheetError> {
    let rows = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes, max_rows)?
    } else {
        read_csv(bytes, max_rows)?
    };
    Ok(rows)
}

fn read_xlsx(bytes: &[u8], max_rows: usize) -> Result<Vec<Row>, SheetError> {
    check_archive(bytes)?;
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| SheetError::Unreadable(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or(SheetError::NoWorksheet)?
        .map_err(|e| SheetError::Unreadable(e.to_string()))?;
    // A range starts at its first used cell; row numbers are the sheet's own.
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let mut rows = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        let mut text: Vec<String> = vec![String::new(); first_col as usize];
        text.extend(cells.iter().map(cell_text));
        push_row(&mut rows, first_row + i as u32 + 1, text, max_rows)?;
    }
    Ok(rows)
}

/// Inflates every part of the archive with a bound, so that a part claiming a small size but
/// inflating without end (a zip bomb) is refused before calamine reads it.
fn check_archive(bytes: &[u8]) -> Result<(), SheetError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| SheetError::Unreadable(e.to_string()))?;
    if zip.len() > MAX_PARTS {
        return Err(SheetError::Unreadable(format!(
            "the archive has more than {MAX_PARTS} parts"
        )));
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        let part = zip
            .by_index(i)
            .map_err(|e| SheetError::Unreadable(e.to_string()))?;
        let inflated = std::io::copy(
            &mut part.take(MAX_INFLATED_BYTES - total + 1),
            &mut std::io::sink(),
        )
        .map_err(|e| SheetError::Unreadable(e.to_string()))?;
        total += inflated;
        if total > MAX_INFLATED_BYTES {
            return Err(SheetError::TooLarge);
        }
    }
    Ok(())
}

/// A cell as the text a person sees. Numbers print without a trailing `.0` and in their
/// shortest exact form (`199.9`, not `199.90000000000001`).
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.abs() >= MAX_EXACT_NUMBER => format!("{f:e}"),
        Data::Float(f) if f.fract() == 0.0 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

fn read_csv(bytes: &[u8], max_rows: usize) -> Result<Vec<Row>, SheetError> {
    let text = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // The line a record starts on, counted from its byte offset (the reader's own count does
    // not see blank lines).
    let (mut line, mut counted) = (1u32, 0usize);
    for record in reader.records() {
        let record = record.map_err(|e| SheetError::Unreadable(e.to_string()))?;
        let mut start = record.position().map_or(counted, |p| p.byte() as usize);
        // A record's position is where the reader began looking for it: before blank lines.
        while matches!(text.as_bytes().get(start), Some(b'\n' | b'\r')) {
            start += 1;
        }
        line += bytecount(&text.as_bytes()[counted..start.max(counted)]);
        counted = start.max(counted);
        let number = line;
        let cells = record.iter().map(|c| c.trim().to_owned()).collect();
        push_row(&mut rows, number, cells, max_rows)?;
    }
    Ok(rows)
}

fn bytecount(bytes: &[u8]) -> u32 {
    bytes.iter().filter(|b| **b == b'\n').count() as u32
}

/// CSV text: UTF-8 (a BOM is dropped), else GB18030, which Excel writes on Chinese Windows.
fn decode(bytes: &[u8]) -> Result<String, SheetError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.contains(&0) {
        return Err(SheetError::Unreadable("it contains NUL bytes".into()));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(_) => {
            let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
            if had_errors {
                return Err(SheetError::Unreadable(
                    "its text is neither UTF-8 nor GB18030".into(),
                ));
            }
            Ok(text.into_owned())
        }
    }
}

/// Keeps a row unless it is empty; the first kept row is the header, so data rows are counted
/// after it.
fn push_row(
    rows: &mut Vec<Row>,
    number: u32,
    mut cells: Vec<String>,
    max_rows: usize,
) -> Result<(), SheetError> {
    if cells.iter().all(String::is_empty) {
        return Ok(());
    }
    while cells.last().is_some_and(String::is_empty) {
        cells.pop();
    }
    if rows.len() > max_rows {
        return Err(SheetError::TooManyRows(max_rows));
    }
    rows.push(Row { number, cells });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_sheet_numbers() {
        let text = "\u{feff}商品名称,SKU\n\n 面霜 ,A-1\n,\n\"多行\n文案\",A-2\n";
        let rows = read(text.as_bytes(), 10).unwrap();
        let numbers: Vec<u32> = rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 3, 5]);
        assert_eq!(rows[0].cells, ["商品名称", "SKU"]);
        assert_eq!(rows[1].cells, ["面霜", "A-1"]);
        assert_eq!(rows[2].cells, ["多行\n文案", "A-2"]);
    }

    #[test]
    fn gb18030_csv_is_read() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("商品名称,SKU\n面霜,A-1\n");
        let rows = read(&bytes, 10).unwrap();
        assert_eq!(rows[1].cells, ["面霜", "A-1"]);
    }

    #[test]
    fn too_many_rows_are_refused() {
        let text = "h\n1\n2\n3\n";
        assert_eq!(read(text.as_bytes(), 2), Err(SheetError::TooManyRows(2)));
        assert_eq!(read(text.as_bytes(), 3).unwrap().len(), 4);
    }

    #[test]
    fn numbers_read_as_people_see_them() {
        assert_eq!(cell_text(&Data::Float(199.9)), "199.9");
        assert_eq!(cell_text(&Data::Float(100.0)), "100");
        assert_eq!(cell_text(&Data::Int(42)), "42");
        assert_eq!(
            cell_text(&Data::Float(3.581234567890123e18)),
            "3.581234567890123e18"
        );
        assert_eq!(cell_text(&Data::String(" a ".into())), "a");
    }

    #[test]
    fn a_zip_that_inflates_too_far_is_refused() {
        use std::io::Write;
        let mut out = Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut out);
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("xl/big.xml", opts).unwrap();
            let zeros = vec![0u8; 1024 * 1024];
            for _ in 0..65 {
                zip.write_all(&zeros).unwrap();
            }
            zip.finish().unwrap();
        }
        let bytes = out.into_inner();
        assert!(bytes.len() < 1024 * 1024, "{} bytes", bytes.len());
        assert_eq!(read(&bytes, 10), Err(SheetError::TooLarge));
    }
}
