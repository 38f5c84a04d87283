//! Class names of the user's data: taken from the training source in first-seen order, so
//! class `i` of a model is the `i`-th distinct label of its training file. Validation and test
//! rows may only use labels the training source has.

use std::collections::HashMap;

/// The label set being built from a training source, or fixed for reading other splits.
#[derive(Debug, Clone, Default)]
pub struct LabelSet {
    names: Vec<String>,
    index: HashMap<String, usize>,
    frozen: bool,
}

impl LabelSet {
    /// An open set: [`LabelSet::lookup`] adds labels it has not seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stops adding labels: later lookups of unseen labels return `None`.
    pub fn freeze(&mut self) {
        self.frozen = true;
    }

    /// The index of `label`, added at the end if the set is open and has not seen it.
    pub fn lookup(&mut self, label: &str) -> Option<usize> {
        if let Some(&i) = self.index.get(label) {
            return Some(i);
        }
        if self.frozen {
            return None;
        }
        let i = self.names.len();
        self.names.push(label.to_string());
        self.index.insert(label.to_string(), i);
        Some(i)
    }

    /// The class names, index = class.
    pub fn into_names(self) -> Vec<String> {
        self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_seen_order_then_frozen() {
        let mut set = LabelSet::new();
        assert_eq!(set.lookup("weather"), Some(0));
        assert_eq!(set.lookup("music"), Some(1));
        assert_eq!(set.lookup("weather"), Some(0));
        set.freeze();
        assert_eq!(set.lookup("books"), None);
        assert_eq!(set.lookup("music"), Some(1));
        assert_eq!(set.into_names(), vec!["weather", "music"]);
    }
}
