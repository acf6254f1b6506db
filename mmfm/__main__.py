from mmfm.cli import main

raise SystemExit(main())
