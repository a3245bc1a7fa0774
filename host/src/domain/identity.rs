//! A KOL's tax identity: the legal name and identity document the withholding declaration
//! (扣缴申报) names. The number is checked here, masked for display (first 3 and last 4
//! characters kept), and sealed at rest by the store (`store::secrets`).

use chrono::NaiveDate;

use super::IdType;

/// Weights of the resident ID checksum (GB 11643, ISO 7064 MOD 11-2).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: &[u8; 11] = b"10X98765432";

/// Why a number is not one of its type: a stable code (`id_format`, `id_birth_date`,
/// `id_check_digit`) and the English text.
pub type Invalid = (&'static str, String);

/// The number in its canonical form (trimmed, upper case), or why it is not one of `id_type`.
pub fn normalize(id_type: IdType, number: &str) -> Result<String, Invalid> {
    let n: String = number.trim().to_uppercase();
    match id_type {
        IdType::ResidentIdCard => {
            resident_id(&n)?;
            Ok(n)
        }
        _ => {
            let ok = (5..=20).contains(&n.len())
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if ok {
                Ok(n)
            } else {
                Err((
                    "id_format",
                    format!("a {id_type} number is 5 to 20 letters, digits or '-'"),
                ))
            }
        }
    }
}

/// Checks an 18-character resident ID: 17 digits, a valid birth date, the check character.
fn resident_id(n: &str) -> Result<(), Invalid> {
    let b = n.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return Err((
            "id_format",
            "a resident ID number is 17 digits and a check digit or X".into(),
        ));
    }
    let date = std::str::from_utf8(&b[6..14]).unwrap_or_default();
    if NaiveDate::parse_from_str(date, "%Y%m%d").is_err() {
        return Err((
            "id_birth_date",
            "the resident ID number's birth date is not a date".into(),
        ));
    }
    if resident_check(&n[..17]) != Some(b[17] as char) {
        return Err((
            "id_check_digit",
            "the resident ID number's check digit is wrong".into(),
        ));
    }
    Ok(())
}

/// The check character of a resident ID's first 17 digits, or `None` when they are not that.
pub fn resident_check(body: &str) -> Option<char> {
    let b = body.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| (d - b'0') as u32 * w)
        .sum();
    Some(CHECK[(sum % 11) as usize] as char)
}

/// The first 3 and the last 4 characters, the rest `*`.
pub fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 3 || i >= chars.len() - 4 {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

/// The declaration's name of the document type (自然人电子税务局 扣缴端).
pub fn declared_type(id_type: IdType) -> &'static str {
    match id_type {
        IdType::ResidentIdCard => "居民身份证",
        IdType::Passport => "中国护照",
        IdType::HkMacauPass => "港澳居民来往内地通行证",
        IdType::TaiwanPass => "台湾居民来往大陆通行证",
        IdType::ForeignPermanentResident => "外国人永久居留身份证",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids_are_checked() {
        // 11010519491231002X: the checksum of the first 17 digits is 2 mod 11 -> 'X'.
        assert_eq!(
            normalize(IdType::ResidentIdCard, " 11010519491231002x ").unwrap(),
            "11010519491231002X"
        );
        assert!(normalize(IdType::ResidentIdCard, "110105194912310021").is_err());
        assert!(normalize(IdType::ResidentIdCard, "110105194913310028").is_err());
        assert!(normalize(IdType::ResidentIdCard, "1101051949123100").is_err());
        assert!(normalize(IdType::Passport, "E12345678").is_ok());
        assert!(normalize(IdType::Passport, "E1 2345678").is_err());
    }

    #[test]
    fn masks_keep_three_and_four() {
        assert_eq!(mask("11010519491231002X"), "110***********002X");
        assert_eq!(mask("E12345678"), "E12**5678");
        assert_eq!(mask("1234567"), "*******");
    }
}
