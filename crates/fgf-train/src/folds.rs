//! The k-fold split every cross-validation here uses (calibration and
//! thresholds, the boilerplate check, `fgf compare`): sample `i` is held
//! out in fold `i % k`, so folds are fixed by the corpus order and every
//! run sees the same ones.

/// One fold: the samples fitted on and the samples held out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    pub fit: Vec<usize>,
    pub held: Vec<usize>,
}

/// The `k` folds of `n` samples (none when `k < 2`).
pub fn folds(n: usize, k: usize) -> impl Iterator<Item = Fold> {
    let k = if k >= 2 { k } else { 0 };
    (0..k).map(move |fold| {
        let (fit, held) = (0..n).partition(|i| i % k != fold);
        Fold { fit, held }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_held_out_exactly_once() {
        let all: Vec<Fold> = folds(11, 3).collect();
        assert_eq!(all.len(), 3);
        let mut held: Vec<usize> = all.iter().flat_map(|f| f.held.clone()).collect();
        held.sort_unstable();
        assert_eq!(held, (0..11).collect::<Vec<_>>());
        for f in &all {
            assert_eq!(f.fit.len() + f.held.len(), 11);
            assert!(f.held.iter().all(|i| !f.fit.contains(i)));
        }
        assert_eq!(folds(5, 1).count(), 0);
        assert_eq!(folds(5, 0).count(), 0);
    }
}
