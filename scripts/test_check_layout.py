"""Tests of check-layout.py's import-cycle rule, on small made-up crates.

Run by .ci/run: `python3 -m unittest discover -s scripts -p 'test_*.py'`. Each test writes a
crate's src/ into a temporary workspace and asks whether the checker sees the cycle it has (or
sees none where there is none), so a checker that stops reading early fails here.
"""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import layout_imports  # noqa: E402


def workspace(files):
    """A temporary workspace holding crate `bench` with `files` ({path under src/: text})."""
    root = tempfile.TemporaryDirectory()
    for rel, text in files.items():
        path = os.path.join(root.name, "bench", "src", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(textwrap.dedent(text).lstrip())
    return root


def cycles(files):
    with workspace(files) as root:
        found = layout_imports.crate_cycles(os.path.join(root, "bench"))
    return sorted(" -> ".join("::".join(m) for m in c) for c in found)


LIB = "//! lib\nmod a;\nmod b;\n"
B_USES_A = "//! b\nuse crate::a::Alpha;\npub struct Beta;\n"


class ImportCycles(unittest.TestCase):
    def test_imports_after_a_cfg_test_item_are_read(self):
        a = """
            //! a
            #[cfg(test)]
            mod support;

            use crate::b::Beta;
            pub struct Alpha;
        """
        files = {"lib.rs": LIB, "a/mod.rs": a, "a/support.rs": "//! s\n", "b.rs": B_USES_A}
        self.assertEqual(cycles(files), ["a -> b"])

    def test_imports_after_a_test_module_are_read(self):
        a = """
            //! a
            pub struct Alpha;

            #[cfg(test)]
            mod tests {
                #[test]
                fn t() {}
            }

            use crate::b::Beta;
        """
        self.assertEqual(cycles({"lib.rs": LIB, "a.rs": a, "b.rs": B_USES_A}), ["a -> b"])

    def test_the_script_reports_it_and_fails(self):
        a = "//! a\n#[cfg(test)]\nfn helper() {}\nuse crate::b::Beta;\npub struct Alpha;\n"
        with workspace({"lib.rs": LIB, "a.rs": a, "b.rs": B_USES_A}) as root:
            run = subprocess.run(
                [sys.executable, os.path.join(HERE, "check-layout.py"), root],
                capture_output=True,
                text=True,
            )
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertIn("bench: import cycle a -> b -> a", run.stdout)

    def test_a_test_modules_imports_close_no_cycle(self):
        a = """
            //! a
            pub struct Alpha;
            #[cfg(test)]
            mod tests {
                use crate::b::Beta;
            }
        """
        self.assertEqual(cycles({"lib.rs": LIB, "a.rs": a, "b.rs": B_USES_A}), [])

    def test_a_path_named_inline_is_a_dependency(self):
        a = "//! a\npub struct Alpha(pub crate::b::Beta);\n"
        self.assertEqual(cycles({"lib.rs": LIB, "a.rs": a, "b.rs": B_USES_A}), ["a -> b"])

    def test_grouped_imports_and_re_exports_are_followed(self):
        lib = "//! lib\nmod a;\nmod b;\nmod c;\npub use c::Gamma;\n"
        a = "//! a\nuse crate::{c::{self}, b::{Beta as B}};\npub struct Alpha;\n"
        b = "//! b\nuse crate::Gamma;\npub struct Beta;\n"
        c = "//! c\npub struct Gamma(super::a::Alpha);\n"
        self.assertEqual(cycles({"lib.rs": lib, "a.rs": a, "b.rs": b, "c.rs": c}), ["a -> b -> c", "a -> c"])

    def test_comments_and_strings_are_not_read(self):
        a = '//! a uses crate::b::Beta in prose\n// use crate::b::Beta;\nconst S: &str = "crate::b::Beta";\n'
        self.assertEqual(cycles({"lib.rs": LIB, "a.rs": a, "b.rs": B_USES_A}), [])

    def test_a_parent_and_its_child_are_no_cycle(self):
        lib = "//! lib\nmod a;\n"
        a = "//! a\nmod child;\nuse child::Kid;\npub trait Parent {}\n"
        child = "//! child\nuse super::Parent;\npub struct Kid;\n"
        self.assertEqual(cycles({"lib.rs": lib, "a/mod.rs": a, "a/child.rs": child}), [])


class UseTrees(unittest.TestCase):
    def test_expand(self):
        got = layout_imports.expand_use("crate::{a::X, b::{self, Y as Z},\n c::*}")
        self.assertEqual(
            got,
            [(["crate", "a", "X"], "X"), (["crate", "b"], "b"), (["crate", "b", "Y"], "Z"), (["crate", "c"], "*")],
        )


if __name__ == "__main__":
    unittest.main()
