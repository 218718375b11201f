// Views whose engine side is not built yet say so plainly instead of faking content.
export function NotYet({ title, text }: { title: string; text: string }) {
  return (
    <section className="list-pane">
      <header className="toolbar"><h1>{title}</h1></header>
      <div className="empty"><p>{text}</p></div>
    </section>
  );
}
