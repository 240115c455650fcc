from loyaltyctl.cli.main import main

main()
