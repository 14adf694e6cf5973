//! What upkeep decides the same way on every backend: how often a live session is scored again,
//! and which of a part's chunks a compaction merges (`sqlite/upkeep.rs` says how compaction runs).

/// A live session's provisional grade is refreshed when it has this many seconds of new reports:
/// rescoring every live session every second would compete with ingest for the writes.
pub const PROVISIONAL_EVERY: i64 = 10;

/// A live part's newest chunks are merged once it has this many (an hour of minute-long reports
/// stays as it came until the part ends: one merge in all).
pub const COMPACT_LIVE_CHUNKS: i64 = 64;

/// Which chunks to merge, oldest first by seq with their sizes: all of an ended part's; of a live
/// part's, the newest ones, back to the first chunk that is more than twice their size together.
/// So a live part's samples are merged a logarithmic number of times (a binary counter), not once
/// per compaction, whatever the size of its reports.
pub fn chunks_to_merge(sizes: &[(i64, i64)], ended: bool) -> &[(i64, i64)] {
    if ended {
        return sizes;
    }
    let mut start = sizes.len().saturating_sub(1);
    let mut total = sizes.last().map_or(0, |(_, n)| *n);
    while start > 0 && sizes[start - 1].1 <= 2 * total {
        start -= 1;
        total += sizes[start].1;
    }
    // A newest chunk much smaller than all before it would merge nothing: merge all.
    if sizes.len() - start < 2 {
        start = 0;
    }
    &sizes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chosen(sizes: &[i64], ended: bool) -> Vec<i64> {
        let with_seq: Vec<(i64, i64)> = sizes
            .iter()
            .enumerate()
            .map(|(i, n)| (i as i64, *n))
            .collect();
        chunks_to_merge(&with_seq, ended)
            .iter()
            .map(|(seq, _)| *seq)
            .collect()
    }

    #[test]
    fn live_parts_merge_their_newest_chunks_like_a_binary_counter() {
        // 63 small chunks after a merged one of 64: all merge (64 <= 2 x 63).
        let mut sizes = vec![64];
        sizes.extend([1; 63]);
        assert_eq!(chosen(&sizes, false).len(), 64);
        // After a bigger merge, only the new small ones.
        let mut sizes = vec![1000];
        sizes.extend([1; 63]);
        assert_eq!(chosen(&sizes, false), (1..64).collect::<Vec<i64>>());
        // Progress is guaranteed: a newest chunk alone is never "a merge".
        assert_eq!(chosen(&[100, 40, 10], false), vec![0, 1, 2]);
        // An ended part merges whole.
        assert_eq!(chosen(&[1000, 1, 1], true), vec![0, 1, 2]);
    }
}
