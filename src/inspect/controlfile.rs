//! Reading a binary package's `control` file (one deb822 paragraph) into
//! its fields, in order, for comparison. Continuation lines stay part of
//! their field's value.

/// The fields of a control paragraph, in file order: (name, value). The
/// value keeps continuation lines (joined with `\n`), trimmed at the ends.
pub(crate) fn parse_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = fields.last_mut() {
                v.push('\n');
                v.push_str(line);
                continue;
            }
        }
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((name, value)) => fields.push((name.trim().to_string(), value.trim().to_string())),
            None => fields.push((line.to_string(), String::new())),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_continuations() {
        let f = parse_fields("Package: x\nDescription: short\n long text\n .\n more\nVersion: 1\n");
        assert_eq!(f[0], ("Package".into(), "x".into()));
        assert_eq!(
            f[1],
            ("Description".into(), "short\n long text\n .\n more".into())
        );
        assert_eq!(f[2], ("Version".into(), "1".into()));
    }
}
