"""What presents the warehouse: the dashboard spec (`spec`, with spec.json as package data), its local HTML
renderer (`html`, the page in `templates/`) and its QuickSight renderer (`quicksight`), the headline
findings (`insights`) and the generated data dictionary and ER diagram (`docs`). Reads the warehouse and
the model; loads nothing."""
