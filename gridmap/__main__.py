from gridmap.cli.main import main

main()
