//! SEL binary frames (sel.md §1). Placeholder until the SEL splitter lands.
