"""qrules: rules-as-code for product quality credit classification supervision."""
