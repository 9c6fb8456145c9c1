"""First-party Assay verifiers. Each family registers through its own `assay` entry point."""
