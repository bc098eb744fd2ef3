from drayman.cli import main

raise SystemExit(main())
