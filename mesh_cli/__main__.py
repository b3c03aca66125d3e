from mesh_cli.cli.entry import main

main()
