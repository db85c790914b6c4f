"""The bar store: its tables (``models``), bulk writes (``writes``), reads and dataset versions
(``reads``), the worker's market cache (``cache``), and reading bar files (``files``) and import
bodies (``imports``). See docs/data.md."""
