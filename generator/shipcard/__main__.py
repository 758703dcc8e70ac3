from shipcard.cli import run

run()
