//! A stand-in embeddings model for tests and the retrieval evaluation: no model weights can be downloaded here,
//! so the fake OpenAI-compatible server answers `/v1/embeddings` with this. Each text becomes the L2-normalized
//! sum of hashed character trigrams of its lower-cased words (with word boundaries), folded into `dims`
//! buckets with a sign hash — a "bag of subwords" vector. It captures shared word stems and spelling variants
//! (restart / restarted / restarts), not meaning: dense figures measured with it are a lower bound of what a
//! real embeddings model gives, and say so wherever they are reported.

/// The stand-in embedding of `text` in `dims` dimensions (unit length, or all zeros for a text without letters
/// or digits).
#[must_use]
pub fn trigram_embedding(text: &str, dims: usize) -> Vec<f32> {
    let mut v = vec![0f32; dims.max(1)];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let padded: Vec<char> = std::iter::once('^')
            .chain(word.chars().flat_map(char::to_lowercase))
            .chain(std::iter::once('$'))
            .collect();
        for gram in padded.windows(3) {
            let h = fnv1a(gram);
            let bucket = (h % v.len() as u64) as usize;
            let sign = if (h >> 63) == 0 { 1.0 } else { -1.0 };
            v[bucket] += sign;
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn fnv1a(chars: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chars {
        for b in (*c as u32).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn shared_stems_are_closer_than_unrelated_words_and_vectors_have_unit_length() {
        let a = trigram_embedding("restart the consumers", 256);
        let b = trigram_embedding("restarted consumer pods", 256);
        let c = trigram_embedding("renew tls certificate", 256);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
        assert!(
            cosine(&a, &b) > cosine(&a, &c) + 0.2,
            "{} vs {}",
            cosine(&a, &b),
            cosine(&a, &c)
        );
        assert_eq!(trigram_embedding("", 8), vec![0.0; 8]);
        assert_eq!(
            trigram_embedding("Disk full", 64),
            trigram_embedding("disk FULL", 64)
        );
    }
}
