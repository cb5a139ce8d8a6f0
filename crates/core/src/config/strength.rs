//! Rules for secret values: the example values shipped in `k8s/` are refused wherever a secret is read,
//! and the JWT signing secret must carry at least 256 bits of entropy.

/// Markers of the placeholder values in `k8s/secret.example.yaml` (matched anywhere in a value, ignoring
/// case): a secret that contains one was copied from the example, not generated.
pub const EXAMPLE_MARKERS: &[&str] = &["CHANGE-ME", "CHANGEME", "REPLACE-ME"];

/// Whether `value` is (or contains) one of the example placeholders.
#[must_use]
pub fn is_example(value: &str) -> bool {
    let upper = value.to_ascii_uppercase();
    EXAMPLE_MARKERS.iter().any(|m| upper.contains(m))
}

/// The least entropy of an HMAC-SHA256 signing secret, in bits.
pub const MIN_SECRET_BITS: u32 = 256;

/// How to make a good one, for error messages.
pub const GENERATE: &str = "generate one with `openssl rand -base64 48`";

/// Why `secret` does not look like at least [`MIN_SECRET_BITS`] bits of randomness, if it does not.
///
/// The estimate is the length times the bits of one character of the smallest alphabet the value fits:
/// 4 for hexadecimal, 6 for base64 (either flavour; padding does not count) and for anything else. So 32
/// random bytes in hex (64 characters) or base64 (43) pass, and nothing shorter does. Values that are long
/// enough but plainly not random are refused too: fewer distinct characters than a random value of that
/// alphabet would all but surely have, a repeated block, mostly runs of the same or neighbouring characters
/// (`aaaa…`, `abcdef…`), or — outside hexadecimal — letters of one case only (words joined by dashes).
#[must_use]
pub fn weak_secret_reason(secret: &str) -> Option<String> {
    let chars: Vec<char> = secret.trim_end_matches('=').chars().collect();
    let hex = chars.iter().all(char::is_ascii_hexdigit);
    let (bits_per_char, min_distinct) = if hex { (4, 10) } else { (6, 16) };
    let bits = u32::try_from(chars.len())
        .unwrap_or(u32::MAX)
        .saturating_mul(bits_per_char);
    if bits < MIN_SECRET_BITS {
        let needed = MIN_SECRET_BITS.div_ceil(bits_per_char);
        return Some(format!(
            "carries about {bits} bits of entropy, at least {MIN_SECRET_BITS} are needed ({needed} random {} characters or more): {GENERATE}",
            if hex { "hexadecimal" } else { "base64" }
        ));
    }
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    // A block repeated (even cut short at the end): every character equals the one a period before.
    let periodic =
        (1..=chars.len() / 2).any(|p| chars[p..].iter().zip(&chars).all(|(a, b)| a == b));
    let steps = chars
        .windows(2)
        .filter(|w| (i64::from(u32::from(w[1])) - i64::from(u32::from(w[0]))).abs() <= 1)
        .count();
    // Random base64 of this length has both cases (all but surely); words joined by dashes do not.
    let mixed_case = hex
        || (chars.iter().any(char::is_ascii_lowercase)
            && chars.iter().any(char::is_ascii_uppercase));
    if distinct.len() < min_distinct || periodic || steps * 2 > chars.len() || !mixed_case {
        return Some(format!(
            "does not look random (too few different characters, a repeated pattern, a sequence, or letters of one case only): {GENERATE}"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn to_hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn generated_secrets_are_accepted() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        for _ in 0..200 {
            let bytes: [u8; 32] = rand::random();
            // `openssl rand -base64 32` (what scripts/dev writes), the test harness's URL-safe token, hex.
            assert_eq!(weak_secret_reason(&STANDARD.encode(bytes)), None);
            assert_eq!(weak_secret_reason(&URL_SAFE_NO_PAD.encode(bytes)), None);
            assert_eq!(weak_secret_reason(&to_hex(&bytes)), None);
            let long: [u8; 48] = rand::random();
            assert_eq!(weak_secret_reason(&STANDARD.encode(long)), None);
        }
        assert_eq!(weak_secret_reason(&crate::crypto::random_token()), None);
    }

    #[test]
    fn short_or_patterned_secrets_are_refused() {
        let short = base64::engine::general_purpose::STANDARD.encode([9u8; 24]);
        for weak in [
            &"x".repeat(40),
            &"x".repeat(200),
            "correct horse battery staple",
            &short,
            &"ab".repeat(40),
            &"0123456789abcdef".repeat(4),
            &"Q7f!kP2z".repeat(8),
            &"Q7f!kP2zR9w#xL4vT1".repeat(5)[..85],
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            &to_hex(&[0u8; 32]),
            &"a1".repeat(20),
            "a-test-secret-that-is-long-enough-for-hs256",
            &format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()),
        ] {
            let reason = weak_secret_reason(weak).unwrap_or_else(|| panic!("{weak} accepted"));
            assert!(reason.contains("openssl rand -base64 48"), "{reason}");
        }
    }

    #[test]
    fn example_values_are_recognized() {
        assert!(is_example("CHANGE-ME: at least 32 random characters"));
        assert!(is_example("postgres://insights:change-me@db/insights"));
        assert!(!is_example("postgres://insights:s3cret@db/insights"));
    }
}
