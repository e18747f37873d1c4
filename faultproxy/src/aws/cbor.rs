//! The smallest CBOR (RFC 8949) encoder the rpc-v2-cbor error answer needs: a map of text
//! strings. A crate would bring a general serializer for one fixed document shape.

/// Appends a CBOR head: major type `major` (0..=7) with argument `len`.
fn head(out: &mut Vec<u8>, major: u8, len: usize) {
    let m = major << 5;
    match len {
        0..=23 => out.push(m | len as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, len as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

/// A CBOR map of text keys to text values, in the given order.
pub(crate) fn text_map(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        16 + pairs
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>(),
    );
    head(&mut out, 5, pairs.len());
    for (k, v) in pairs {
        for s in [k, v] {
            head(&mut out, 3, s.len());
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_rfc_8949_examples() {
        // RFC 8949 appendix A: {"a": "A"} is a1 61 61 61 41.
        assert_eq!(text_map(&[("a", "A")]), [0xa1, 0x61, 0x61, 0x61, 0x41]);
        let long = "x".repeat(300);
        let enc = text_map(&[("k", &long)]);
        assert_eq!(&enc[..5], &[0xa1, 0x61, b'k', 0x79, 0x01]);
        assert_eq!(enc.len(), 5 + 1 + 300);
        assert_eq!(
            text_map(&[("", &"y".repeat(24))])[..4],
            [0xa1, 0x60, 0x78, 24]
        );
    }
}
