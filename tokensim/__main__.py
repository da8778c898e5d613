"""`python -m tokensim` runs the command line."""

from tokensim.cli import main

main()
