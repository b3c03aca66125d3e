from mesh_cli.cli.main import main

main()
