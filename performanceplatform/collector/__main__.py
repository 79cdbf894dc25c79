from performanceplatform.collector.main import main

raise SystemExit(main())
