import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = {
  title: "Taskport",
  description: "Task creation for data labeling, compatible with Label Studio's API.",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header className="site-header">
          <a href="/" className="brand">
            Taskport
          </a>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
