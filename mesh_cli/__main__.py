from mesh_cli.cli import main

main()
