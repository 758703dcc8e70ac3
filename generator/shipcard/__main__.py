from shipcard.cli import main

main()
