from supportpolicy.server.cli import main

main()
