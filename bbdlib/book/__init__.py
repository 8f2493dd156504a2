"""The book's machinery: claims ledger, figure style, execution, command line, Sphinx extension."""
