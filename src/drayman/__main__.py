from drayman.startup import main

raise SystemExit(main())
