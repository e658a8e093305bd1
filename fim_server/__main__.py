from fim_server.cli import main

raise SystemExit(main())
