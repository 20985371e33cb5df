//! FAQ categories as a tree: how `GET /categories` nests them, and which parent changes are
//! refused.
//!
//! - A category's parent is `"0"` (top level) or another category of the same helpdesk.
//! - [`tree`]: categories nest under their parents in the order given; a category whose parent
//!   is not among those given (top level, or filtered out by language) is a root. Every node
//!   carries `children` (maybe empty).
//! - [`check_parent`]: a category cannot be its own parent or the parent of an ancestor (a
//!   cycle), and the parent must exist.

use std::collections::HashMap;

use larkdesk_wire::agents::Category;

/// The parent id of top-level categories.
pub const TOP: &str = "0";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    #[error("parent_id {0} is not a category of this helpdesk")]
    UnknownParent(String),
    #[error("a category cannot be under itself or one of its subcategories")]
    Cycle,
}

/// Nest `flat` (in the order to show) into trees.
pub fn tree(flat: Vec<Category>) -> Vec<Category> {
    let present: std::collections::HashSet<String> = flat.iter().map(|c| c.category_id.clone()).collect();
    let mut children: HashMap<String, Vec<Category>> = HashMap::new();
    let mut roots = Vec::new();
    for c in flat {
        if c.parent_id != TOP && present.contains(&c.parent_id) && c.parent_id != c.category_id {
            children.entry(c.parent_id.clone()).or_default().push(c);
        } else {
            roots.push(c);
        }
    }
    fn attach(mut c: Category, children: &mut HashMap<String, Vec<Category>>) -> Category {
        let kids = children.remove(&c.category_id).unwrap_or_default();
        c.children = Some(kids.into_iter().map(|k| attach(k, children)).collect());
        c
    }
    roots.into_iter().map(|c| attach(c, &mut children)).collect()
}

/// Whether `id` may be moved under `parent`, given every category's parent (`parents`: id →
/// parent id). `id` is `None` for a new category.
pub fn check_parent(
    id: Option<&str>,
    parent: &str,
    parents: &HashMap<String, String>,
) -> Result<(), CategoryError> {
    if parent == TOP {
        return Ok(());
    }
    if !parents.contains_key(parent) {
        return Err(CategoryError::UnknownParent(parent.to_owned()));
    }
    let Some(id) = id else { return Ok(()) };
    let mut at = parent;
    // Walk up from the new parent; meeting `id` means a cycle. Bounded by the number of
    // categories, in case stored data already has one.
    for _ in 0..=parents.len() {
        if at == id {
            return Err(CategoryError::Cycle);
        }
        match parents.get(at) {
            Some(p) if p != TOP => at = p,
            _ => return Ok(()),
        }
    }
    Err(CategoryError::Cycle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(id: &str, parent: &str) -> Category {
        Category {
            category_id: id.into(),
            id: id.into(),
            parent_id: parent.into(),
            ..Category::default()
        }
    }

    fn ids(nodes: &[Category]) -> Vec<String> {
        nodes
            .iter()
            .map(|c| {
                let kids = ids(c.children.as_deref().unwrap_or(&[]));
                if kids.is_empty() {
                    c.id.clone()
                } else {
                    format!("{}({})", c.id, kids.join(","))
                }
            })
            .collect()
    }

    #[test]
    fn tree_nests_in_order_and_orphans_are_roots() {
        let table: &[(&[(&str, &str)], &str)] = &[
            (&[], ""),
            (&[("1", "0"), ("2", "0")], "1,2"),
            (&[("1", "0"), ("2", "1"), ("3", "2"), ("4", "1")], "1(2(3),4)"),
            (&[("2", "1"), ("1", "0")], "1(2)"),
            (&[("2", "9")], "2"),
            (&[("1", "1")], "1"),
        ];
        for (flat, want) in table {
            let got = tree(flat.iter().map(|(i, p)| cat(i, p)).collect());
            assert_eq!(ids(&got).join(","), *want, "{flat:?}");
            assert!(got.iter().all(|c| c.children.is_some()));
        }
    }

    #[test]
    fn parents_must_exist_and_not_make_cycles() {
        let parents: HashMap<String, String> = [("1", "0"), ("2", "1"), ("3", "2")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        let table = [
            (None, "0", Ok(())),
            (None, "3", Ok(())),
            (None, "9", Err(CategoryError::UnknownParent("9".into()))),
            (Some("3"), "1", Ok(())),
            (Some("1"), "1", Err(CategoryError::Cycle)),
            (Some("1"), "3", Err(CategoryError::Cycle)),
            (Some("2"), "3", Err(CategoryError::Cycle)),
            (Some("3"), "0", Ok(())),
        ];
        for (id, parent, want) in table {
            assert_eq!(check_parent(id, parent, &parents), want, "{id:?} under {parent}");
        }
    }
}
