from knotball.cli import main

raise SystemExit(main())
